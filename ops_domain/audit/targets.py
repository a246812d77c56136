"""How SQL reads an audit row's target as the id of its record.

``target_id`` is text: a record's id, or a word such as ``new`` for a record refused before it
existed. Compared as ``id::text = target_id`` no index of the record's table can serve the
join, so a reader would go through the whole table; as the id below, each audit row is a
primary-key look-up, and a target that names no record finds none."""

# SQL for the audit row aliased ``a``
AUDIT_TARGET_ID = "CASE WHEN a.target_id ~ '^[0-9]{1,18}$' THEN CAST(a.target_id AS bigint) END"
