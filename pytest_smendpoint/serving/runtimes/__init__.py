"""The Python and packages a model's processes run with: the image's own (its Python minor
version and the framework packages its Dockerfile and requirements pin, installed once into a
cached virtual environment), never the test environment's, unless asked.

catalog: what each known image tag ships; interpreters: finding that Python here; install: the
cached environment; explain: why a model failed to load under it; selection: the choice for
one endpoint."""
