"""Everything that talks to SageMaker's control plane through boto3: the backends, the model
sources, the create / wait / delete lifecycle, diagnostics, artifacts and the sweep. The same
code serves moto and real AWS."""
