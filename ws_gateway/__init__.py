"""ws_gateway"""
