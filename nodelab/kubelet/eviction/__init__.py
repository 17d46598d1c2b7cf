"""Node-pressure eviction: the signals measured, the thresholds and conditions they raise, which
pod goes first, and the loop that evicts it.
"""
