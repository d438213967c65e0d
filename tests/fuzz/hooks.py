"""schemathesis hooks for tests/fuzz/fuzz.py (loaded through SCHEMATHESIS_HOOKS).

POST /v1/certificates/verify takes the bytes of a PDF (`application/pdf`): send
generated bodies as raw bytes, as schemathesis does for application/octet-stream.
"""

import schemathesis

schemathesis.serializer.alias("application/pdf", "application/octet-stream")
