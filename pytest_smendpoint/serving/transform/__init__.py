"""Batch Transform in the container emulator: what a transform job's agent does with a container,
independent of where the job's objects live (the moto adapter, aws/backends/moto/transforms.py,
says that). parameters.py: the job's settings, the container's GET /execution-parameters and
SageMaker's defaults, in that order; batches.py: an object's bytes cut into requests at line
boundaries, streamed; run.py: the requests sent to the model, the answers assembled in order."""
