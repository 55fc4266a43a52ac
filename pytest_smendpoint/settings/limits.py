"""SageMaker service limits that both the invoker and the local serving keep (no heavy imports)."""

from __future__ import annotations

# The real-time InvokeEndpoint request body limit: 6 MiB, botocore's BodyBlob max in the
# sagemaker-runtime model. Older botocore said 5 MiB; older field reports quote 5,246,976 B.
PAYLOAD_CEILING_BYTES = 6_291_456
# A real-time container must answer an invocation within 60 s, or SageMaker answers ModelError.
INVOCATION_TIMEOUT_SECONDS = 60.0
# The runtime client waits longer than that, so the endpoint's own bound answers first (over
# HTTP, botocore's default 60 s read timeout would race it, and a timed-out read is retried).
CLIENT_READ_TIMEOUT_SECONDS = INVOCATION_TIMEOUT_SECONDS + 10
