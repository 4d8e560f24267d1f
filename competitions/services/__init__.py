"""The only code that writes the competitions tables, one module per domain.

Views, the API and the admin call these functions; each runs its checks and writes in one
transaction, takes the row locks its invariants need, and raises a
``services.errors.ServiceError`` (with an HTTP status and a code) to refuse a request.
Every function takes an optional ``now`` so that the timeline can be tested to the second.
"""
