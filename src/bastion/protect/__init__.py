"""Supply-chain defences: name protection (``names``) and malware scanning (``scan``).

Plain Python over the database, like every domain: no HTTP, no URLs.
"""
