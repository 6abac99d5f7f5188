"""Inter-thread and inter-process synchronisation: futexes."""
