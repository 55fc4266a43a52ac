"""SageMaker service limits that both the invoker and the local serving keep (no heavy imports)."""

from __future__ import annotations

# The real-time InvokeEndpoint request body limit: 6 MiB, botocore's BodyBlob max in the
# sagemaker-runtime model. Older botocore said 5 MiB; older field reports quote 5,246,976 B.
PAYLOAD_CEILING_BYTES = 6_291_456
