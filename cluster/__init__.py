"""Base layer: Ray address resolution, the local cluster, errors and logging set-up.

Every other package may import this one; it imports none of them.
"""
