"""projection_worker"""
