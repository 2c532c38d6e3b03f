"""The ResMan legacy API: client (client.py), MITS Lead Management XML (mits.py), results (models.py) and
errors (errors.py). Import the submodules directly; this package imports nothing at import time."""
