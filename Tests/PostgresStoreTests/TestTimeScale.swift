import AgentMemoryTesting

/// `seconds` stretched by ``TestTimeScale/factor`` (`AGENT_MEMORY_TEST_TIME_SCALE`): for upper
/// bounds only (hang guards, connection limits).
func scaledSeconds(_ seconds: Double) -> Double { TestTimeScale.seconds(seconds) }

/// `duration` stretched by ``TestTimeScale/factor``: for upper bounds only.
func scaled(_ duration: Duration) -> Duration { TestTimeScale.scaled(duration) }
