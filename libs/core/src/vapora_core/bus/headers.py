"""NATS header names the bus reads or writes, defined once."""

MSG_ID = "Nats-Msg-Id"  # JetStream's de-duplication id (within the stream's duplicate window)
EXPECTED_STREAM = "Nats-Expected-Stream"  # the stream must be this one, or the publish is refused
STATUS = "Status"  # a status message's code: 100 heartbeat, 404/408/409 end of a pull request, 503 no responders

# A dead letter's headers: why it could not be handled, by which consumer, from which subject.
DLQ_REASON = "vapora-dlq-reason"
DLQ_KIND = "vapora-dlq-kind"
DLQ_CONSUMER = "vapora-dlq-consumer"
DLQ_SUBJECT = "vapora-dlq-subject"
