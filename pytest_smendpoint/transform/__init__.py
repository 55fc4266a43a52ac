"""sm_transform: Batch Transform jobs over data sets larger than an endpoint serves. shards.py
writes the input to S3, outputs.py reads the answers back, runner.py runs a job per call and
cleans up; aws/transform_jobs.py holds the job's own calls."""
