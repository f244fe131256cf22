"""ECG layer of gmesa: reading, cleaning and R-peak detection (more to come)."""
