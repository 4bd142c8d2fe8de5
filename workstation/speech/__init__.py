"""Speech stage: media decoding, faster-whisper, coverage, diarization, the pipeline and its sealed worker."""
