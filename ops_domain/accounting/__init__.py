"""Double-entry journals with maker-checker approval, and accounting periods."""
