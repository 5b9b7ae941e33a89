-- Schema version 7: dashboard passwords.  A supervisor may log in to the
-- dashboard with a password the admin set (`pingan admin password-set`)
-- instead of a terminal token.  Only its scrypt hash is kept
-- (token.c: "scrypt$<log2 N>$<r>$<p>$<salt hex>$<key hex>"); the client
-- hashes it, so the password itself never reaches pingand except at login.
CREATE TABLE password (
	worker_id	INTEGER PRIMARY KEY REFERENCES worker(id),
	hash		TEXT NOT NULL,
	set_ms		INTEGER NOT NULL
);
