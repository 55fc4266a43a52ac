"""SageMaker service limits that both the invoker and the local serving keep (no heavy imports)."""

from __future__ import annotations

# The real-time InvokeEndpoint request body limit, the one place it is written. SageMaker's
# documentation says "6 MB"; botocore's BodyBlob max in the sagemaker-runtime model says which:
# 6 MiB, 6,291,456 B (what SageMaker's 413 names). Older botocore said 5 MiB; older field reports
# quote 5,246,976 B. The invoker's budget check and the local serving's 413 use it in bytes.
PAYLOAD_CEILING_BYTES = 6 * 2**20
# The same limit as --sm-max-payload-mb's ceiling, in the documentation's unit: 6. The option
# counts decimal megabytes (MEGABYTE; 0.001 is 1 KB), so its largest budget, 6,000,000 B, stays
# under PAYLOAD_CEILING_BYTES.
PAYLOAD_CEILING_MB = PAYLOAD_CEILING_BYTES / 2**20
MEGABYTE = 1_000_000
# A serverless endpoint's request (and response) limit: "The maximum request and response payload
# size for serverless invocations is 4 MB" (docs.aws.amazon.com/sagemaker/latest/dg/
# serverless-endpoints-invoke.html). No service model spells it in bytes; read as the real-time
# "6 MB" is (6 MiB), 4 MiB. sm_invoke's budget counts decimal megabytes (4,000,000 B at most), so
# it stays under it either way.
SERVERLESS_PAYLOAD_CEILING_BYTES = 4 * 2**20
SERVERLESS_PAYLOAD_CEILING_MB = SERVERLESS_PAYLOAD_CEILING_BYTES / 2**20
# sm_invoke's largest request to a serverless endpoint: 4 decimal megabytes, under the limit
# whichever way SageMaker counts its "4 MB".
SERVERLESS_PAYLOAD_BUDGET_BYTES = 4 * MEGABYTE
# "The model must download and the server must respond successfully to /ping within 3 minutes"
# (the same page): a serverless variant's start-up bound, which no option changes.
SERVERLESS_STARTUP_TIMEOUT_SECONDS = 180.0
# Batch Transform (CreateTransformJob's API reference): MaxPayloadInMB 0-100 (SageMaker's
# default 6), InvocationsTimeoutInSeconds 1-3600 (default 600), InvocationsMaxRetries 0-3
# (default 3). The offline job keeps the same bounds.
TRANSFORM_MAX_PAYLOAD_MB = 100
TRANSFORM_DEFAULT_PAYLOAD_MB = 6
TRANSFORM_MAX_INVOCATION_TIMEOUT = 3600
TRANSFORM_MAX_RETRIES = 3
# A real-time container must answer an invocation within 60 s, or SageMaker answers ModelError.
INVOCATION_TIMEOUT_SECONDS = 60.0
# The runtime client waits longer than that, so the endpoint's own bound answers first (over
# HTTP, botocore's default 60 s read timeout would race it, and a timed-out read is retried).
CLIENT_READ_TIMEOUT_SECONDS = INVOCATION_TIMEOUT_SECONDS + 10
# Asynchronous inference (InvokeEndpointAsync): requests "up to 1GB" read from S3 (SageMaker's
# asynchronous inference overview), in decimal bytes here, the smaller reading of "1GB".
ASYNC_PAYLOAD_CEILING_BYTES = 1_000_000_000
