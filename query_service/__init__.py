"""query_service"""
