"""The domain and the workflow runner of petiflow: no web, queue or broker imports."""
