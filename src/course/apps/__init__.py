"""Small apps the course provides, for exercises that work on an app rather than write one."""
