"""Instructor tools of the course: generate student notebooks, autograde a class."""
