"""Constants shared by the INES tests (kept apart from the fixtures plugin, which pytest must
import first to rewrite its asserts)."""

ACCOUNT, USER, PASSWORD = "ACME", "jdupont", "s3cr&t<pw>"
