"""What the tests share that is not a fixture: factories, archive builders, servers, web
helpers. ``conftest.py`` files hold only fixtures, thin wrappers over these."""
