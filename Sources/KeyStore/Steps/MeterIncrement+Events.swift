extension MeterIncrement {
    /// The threshold events this increment sets off, the meter now at `used`.
    package func thresholdEvents(usedAfter used: Int) -> [NewEvent] {
        NewEvent.crossedThresholds(limit: limit, before: used - amount, after: used).map { threshold in
            NewEvent.quotaThreshold(organizationId: organizationId, meter: meter, periodStart: periodStart,
                                    limit: limit ?? 0, used: used, threshold: threshold)
        }
    }
}
