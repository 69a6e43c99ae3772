"""Name protection: typosquats, look-alike names, brandjacking and reserved namespaces."""
