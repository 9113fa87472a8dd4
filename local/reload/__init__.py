"""Template hot reload for a running `local up`: the edited template read, checked and
provisioned, then its routes, functions and event sources swapped in whole (reloader.py),
behind the servers' fronts (front.py)."""
