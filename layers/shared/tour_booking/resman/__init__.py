"""The ResMan legacy API: client (client.py), MITS Lead Management XML (mits.py), errors (errors.py), and the
adapters behind the refresh's and the sync's ports (refresh_adapter.py, sync_adapter.py). Import the submodules
directly; this package imports nothing at import time."""
