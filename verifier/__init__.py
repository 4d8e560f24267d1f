"""Django app holding the Celery tasks that verify submissions."""
