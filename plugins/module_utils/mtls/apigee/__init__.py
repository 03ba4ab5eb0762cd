"""The Apigee side: the one management API client (``client``) and the resource layer (``resources``)."""
