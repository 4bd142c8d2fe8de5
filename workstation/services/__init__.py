"""Services: the use cases both shells call (check, call, audit). Nothing else orchestrates."""
