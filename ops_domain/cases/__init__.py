"""Operation cases (complaints, disputes, refunds, incidents), their teams and notes."""
