public import KeyStore

extension KeygateService {
    /// The outbox: events after `cursor` in the order they were committed,
    /// of one organization or of all. Delivery is at least once: a consumer
    /// stores the cursor of the last event it handled and deduplicates by
    /// event id.
    ///
    /// With `types`, only events of those types: a page then reads at most
    /// ``EventPage/readBound`` events past the cursor, so it may hold fewer than
    /// `limit` (none, when the types are rare) while ``EventPage/hasMore``
    /// says to read again; its cursor is past every event read. An empty
    /// set matches no event.
    public func events(organizationId: String?, types: Set<EventType>? = nil, cursor: String?, limit: Int?)
        throws(ServiceError) -> EventPage
    {
        try store { () throws(KeyStoreError) in
            try storage.events(organizationId: organizationId, types: types, after: cursor, limit: limit)
        }
    }

    /// Writes the events time makes due (keys expiring within the notice,
    /// keys expired) and prunes those past the retention. `keygate serve`
    /// runs it every minute; any number of processes may.
    @discardableResult
    public func sweepEvents(_ schedule: EventSchedule = EventSchedule()) throws(ServiceError) -> Int {
        try store { () throws(KeyStoreError) in try storage.sweepEvents(schedule) }
    }
}
