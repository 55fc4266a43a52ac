"""pytest-xdist: one endpoint per configuration for the whole run, deleted once after the last
worker, the way pytest-xdist itself keeps its controller (dsession.py) and workers (remote.py)
apart.

controller.py: the controller (which runs no tests) gives every worker the run's session
identity, a directory and, under moto, the URL of the moto server it runs with the models
served behind it (`aws/backends/moto/server.py`); at its session end it deletes what the workers
recorded. worker.py: workers coordinate with `filelock`, as pytest-xdist documents for session
fixtures that must run once: the first worker to take a configuration's lock deploys and writes
the record; the others wait on the lock and read it. No worker deletes anything. A worker killed
mid-deploy releases its lock (the OS drops a dead process's flock); the next worker removes what
it had created (only what carries this run's session tag) and deploys again. shared.py: the
files, locks and signal guard both sides use. session.py: which side this process is, chosen
once in pytest_configure.
"""
