"""The real msgraph-sdk against GraphEmulator: every answer deserialises into its models."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pytest
from graph_client import SdkClient, config
from msgraph.generated.models.attendee import Attendee
from msgraph.generated.models.attendee_type import AttendeeType
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.day_of_week import DayOfWeek
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.event_type import EventType
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.location import Location
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.patterned_recurrence import PatternedRecurrence
from msgraph.generated.models.recurrence_pattern import RecurrencePattern
from msgraph.generated.models.recurrence_pattern_type import RecurrencePatternType
from msgraph.generated.models.recurrence_range import RecurrenceRange
from msgraph.generated.models.recurrence_range_type import RecurrenceRangeType
from msgraph.generated.models.response_type import ResponseType
from msgraph.generated.models.sensitivity import Sensitivity
from msgraph.generated.models.single_value_legacy_extended_property import (
    SingleValueLegacyExtendedProperty,
)
from msgraph.generated.models.week_index import WeekIndex
from msgraph.generated.users.item.calendar_view.delta.delta_request_builder import (
    DeltaRequestBuilder,
)
from msgraph.generated.users.item.events.events_request_builder import EventsRequestBuilder
from msgraph.generated.users.item.events.item.accept.accept_post_request_body import (
    AcceptPostRequestBody,
)
from msgraph.generated.users.item.events.item.cancel.cancel_post_request_body import (
    CancelPostRequestBody,
)
from msgraph.generated.users.item.events.item.event_item_request_builder import (
    EventItemRequestBuilder,
)
from msgraph.generated.users.item.events.item.instances.instances_request_builder import (
    InstancesRequestBuilder,
)

if TYPE_CHECKING:
    from calsync.testing import GraphEmulator, GraphMailbox

KEY_ID = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name calsyncKey"


def _meeting(subject: str = "Planning", **extra: object) -> Event:
    event = Event(
        subject=subject,
        body=ItemBody(content_type=BodyType.Html, content="<p>Agenda</p>"),
        start=DateTimeTimeZone(date_time="2026-03-02T10:00:00", time_zone="Europe/Brussels"),
        end=DateTimeTimeZone(date_time="2026-03-02T11:00:00", time_zone="Europe/Brussels"),
        location=Location(display_name="Room 1"),
        attendees=[
            Attendee(
                type=AttendeeType.Required,
                email_address=EmailAddress(address="carol@example.com", name="Carol"),
            )
        ],
        sensitivity=Sensitivity.Private,
        categories=["Blue"],
    )
    for name, value in extra.items():
        setattr(event, name, value)
    return event


def test_create_get_patch_delete_round_trip(graph_sdk: SdkClient) -> None:
    me = graph_sdk.graph.me
    created = graph_sdk.run(me.events.post(_meeting()))
    assert created is not None
    assert created.id
    assert created.subject == "Planning"
    assert created.type == EventType.SingleInstance
    assert created.start is not None
    assert created.start.date_time == "2026-03-02T09:00:00.0000000"
    assert created.start.time_zone == "UTC"
    assert created.original_start_time_zone == "Europe/Brussels"
    assert created.body is not None
    assert created.body.content is not None
    assert created.body.content.startswith("<html>")
    assert "<p>Agenda</p>" in created.body.content
    assert created.attendees is not None
    assert created.attendees[0].status is not None
    assert created.attendees[0].status.response == ResponseType.None_
    assert created.organizer is not None
    assert created.organizer.email_address is not None
    assert created.organizer.email_address.address == "alice@example.com"
    assert created.is_organizer is True
    assert created.sensitivity == Sensitivity.Private
    assert created.categories == ["Blue"]
    assert created.created_date_time is not None
    assert created.i_cal_u_id
    etag = created.additional_data["@odata.etag"]
    assert etag.startswith('W/"')

    patched = graph_sdk.run(
        me.events.by_event_id(created.id).patch(Event(location=Location(display_name="Room 2")))
    )
    assert patched is not None
    assert patched.location is not None
    assert patched.location.display_name == "Room 2"
    assert patched.change_key != created.change_key
    assert patched.additional_data["@odata.etag"] != etag

    fetched = graph_sdk.run(me.events.by_event_id(created.id).get())
    assert fetched is not None
    assert fetched.subject == "Planning"
    assert fetched.location is not None
    assert fetched.location.display_name == "Room 2"

    graph_sdk.run(me.events.by_event_id(created.id).delete())
    with pytest.raises(ODataError) as caught:
        graph_sdk.run(me.events.by_event_id(created.id).get())
    assert caught.value.response_status_code == 404
    assert caught.value.error is not None
    assert caught.value.error.code == "ErrorItemNotFound"


def test_prefer_time_zone_and_users_path(
    graph_emulator: GraphEmulator, graph_sdk: SdkClient, graph_alice: GraphMailbox
) -> None:
    created = graph_sdk.run(graph_sdk.graph.me.events.post(_meeting()))
    assert created is not None
    assert created.id is not None
    prefer = config(("Prefer", 'outlook.timezone="Pacific Standard Time"'))
    user = graph_sdk.graph.users.by_user_id(graph_alice.email)
    fetched = graph_sdk.run(user.events.by_event_id(created.id).get(request_configuration=prefer))
    assert fetched is not None
    assert fetched.start is not None
    assert fetched.start.date_time == "2026-03-02T01:00:00.0000000"
    assert fetched.start.time_zone == "Pacific Standard Time"
    assert graph_emulator.requests[-1].path.startswith("/v1.0/users/")


def test_transaction_id_duplicate_and_extended_property_lookup(graph_sdk: SdkClient) -> None:
    me = graph_sdk.graph.me
    key = SingleValueLegacyExtendedProperty(id=KEY_ID, value="rec-42")
    first = graph_sdk.run(
        me.events.post(_meeting(transaction_id="tx-42", single_value_extended_properties=[key]))
    )
    assert first is not None
    assert first.transaction_id == "tx-42"
    with pytest.raises(ODataError) as caught:
        graph_sdk.run(me.events.post(_meeting(transaction_id="tx-42")))
    assert caught.value.response_status_code == 400
    assert caught.value.error is not None
    assert caught.value.error.code == "ErrorDuplicateTransactionId"
    assert "already been used" in (caught.value.error.message or "")

    query = EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
        filter=(
            f"singleValueExtendedProperties/Any(ep: ep/id eq '{KEY_ID}' and ep/value eq 'rec-42')"
        ),
        expand=[f"singleValueExtendedProperties($filter=id eq '{KEY_ID}')"],
    )
    found = graph_sdk.run(me.events.get(request_configuration=config(parameters=query)))
    assert found is not None
    assert found.value is not None
    assert [event.id for event in found.value] == [first.id]
    props = found.value[0].single_value_extended_properties
    assert props is not None
    assert props[0].value == "rec-42"


def test_if_match_stale_etag_is_412(graph_sdk: SdkClient) -> None:
    me = graph_sdk.graph.me
    created = graph_sdk.run(me.events.post(_meeting()))
    assert created is not None
    assert created.id is not None
    stale = created.additional_data["@odata.etag"]
    graph_sdk.run(me.events.by_event_id(created.id).patch(Event(subject="Moved")))
    with pytest.raises(ODataError) as caught:
        graph_sdk.run(
            me.events.by_event_id(created.id).patch(
                Event(subject="Again"), request_configuration=config(("If-Match", stale))
            )
        )
    assert caught.value.response_status_code == 412
    assert caught.value.error is not None
    assert caught.value.error.code == "ErrorIrresolvableConflict"


def _series(graph_sdk: SdkClient) -> Event:
    series = _meeting(
        "Weekly",
        attendees=[],
        recurrence=PatternedRecurrence(
            pattern=RecurrencePattern(
                type=RecurrencePatternType.Weekly,
                interval=1,
                days_of_week=[DayOfWeek.Monday],
                first_day_of_week=DayOfWeek.Sunday,
            ),
            range=RecurrenceRange(
                type=RecurrenceRangeType.Numbered,
                start_date=date(2026, 3, 2),
                number_of_occurrences=4,
            ),
        ),
    )
    created = graph_sdk.run(graph_sdk.graph.me.events.post(series))
    assert created is not None
    return created


def test_series_instances_and_filled_recurrence(graph_sdk: SdkClient) -> None:
    master = _series(graph_sdk)
    assert master.id is not None
    assert master.type == EventType.SeriesMaster
    recurrence = master.recurrence
    assert recurrence is not None
    assert recurrence.pattern is not None
    assert recurrence.pattern.type == RecurrencePatternType.Weekly
    assert recurrence.pattern.index == WeekIndex.First
    assert recurrence.pattern.day_of_month == 0
    assert recurrence.range is not None
    assert recurrence.range.number_of_occurrences == 4
    assert recurrence.range.recurrence_time_zone == "Romance Standard Time"

    query = InstancesRequestBuilder.InstancesRequestBuilderGetQueryParameters(
        start_date_time="2026-03-01T00:00:00Z", end_date_time="2026-04-01T00:00:00Z"
    )
    instances = graph_sdk.run(
        graph_sdk.graph.me.events.by_event_id(master.id).instances.get(
            request_configuration=config(parameters=query)
        )
    )
    assert instances is not None
    assert instances.value is not None
    assert [i.start.date_time for i in instances.value if i.start] == [
        "2026-03-02T09:00:00.0000000",
        "2026-03-09T09:00:00.0000000",
        "2026-03-16T09:00:00.0000000",
        "2026-03-23T09:00:00.0000000",
    ]
    first = instances.value[0]
    assert first.type == EventType.Occurrence
    assert first.series_master_id == master.id
    assert first.original_start is not None
    assert first.i_cal_u_id != master.i_cal_u_id
    assert first.id is not None

    graph_sdk.run(graph_sdk.graph.me.events.by_event_id(first.id).delete())
    select = EventItemRequestBuilder.EventItemRequestBuilderGetQueryParameters(
        select=["subject", "cancelledOccurrences"], expand=["exceptionOccurrences"]
    )
    reread = graph_sdk.run(
        graph_sdk.graph.me.events.by_event_id(master.id).get(
            request_configuration=config(parameters=select)
        )
    )
    assert reread is not None
    # Graph lists cancelled occurrences as OID.{master id}.{date in the series' zone}.
    assert reread.cancelled_occurrences == [f"OID.{master.id}.2026-03-02"]
    assert reread.exception_occurrences == []


def test_delta_pages_through_the_sdk(graph_sdk: SdkClient) -> None:
    for day in range(2, 7):
        graph_sdk.run(
            graph_sdk.graph.me.events.post(
                _meeting(
                    f"Day {day}",
                    start=DateTimeTimeZone(date_time=f"2026-03-0{day}T10:00:00", time_zone="UTC"),
                    end=DateTimeTimeZone(date_time=f"2026-03-0{day}T11:00:00", time_zone="UTC"),
                )
            )
        )
    _series(graph_sdk)
    query = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
        start_date_time="2026-03-01T00:00:00Z", end_date_time="2026-04-01T00:00:00Z"
    )
    headers = (("Prefer", "odata.maxpagesize=2"), ("Prefer", 'IdType="ImmutableId"'))
    delta = graph_sdk.graph.me.calendar_view.delta
    page = graph_sdk.run(delta.get(request_configuration=config(*headers, parameters=query)))
    seen: list[Event] = []
    pages = 0
    while page is not None:
        pages += 1
        seen += page.value or []
        if not page.odata_next_link:
            break
        page = graph_sdk.run(
            delta.with_url(page.odata_next_link).get(request_configuration=config(*headers))
        )
    assert page is not None
    assert page.odata_delta_link
    assert pages == 4
    kinds = [event.type for event in seen]
    assert kinds.count(EventType.SingleInstance) == 5
    assert kinds.count(EventType.SeriesMaster) == 1
    assert kinds.count(EventType.Occurrence) == 4
    stubs = [event for event in seen if event.type == EventType.Occurrence]
    assert all(stub.subject is None and stub.i_cal_u_id is None for stub in stubs)

    again = graph_sdk.run(
        delta.with_url(page.odata_delta_link).get(request_configuration=config(*headers))
    )
    assert again is not None
    assert again.value == []
    assert again.odata_delta_link


def test_rsvp_and_cancel_rules(
    graph_emulator: GraphEmulator, graph_sdk: SdkClient, graph_bob: GraphMailbox
) -> None:
    created = graph_sdk.run(
        graph_sdk.graph.me.events.post(
            _meeting(
                attendees=[
                    Attendee(
                        type=AttendeeType.Required,
                        email_address=EmailAddress(address=graph_bob.email, name="Bob"),
                    )
                ]
            )
        )
    )
    assert created is not None
    assert created.id is not None
    bob = SdkClient(graph_emulator, graph_bob.token)
    try:
        copies = bob.run(bob.graph.me.events.get())
        assert copies is not None
        assert copies.value is not None
        copy = copies.value[0]
        assert copy.id is not None
        assert copy.is_organizer is False
        assert copy.i_cal_u_id == created.i_cal_u_id
        assert copy.response_status is not None
        assert copy.response_status.response == ResponseType.NotResponded
        with pytest.raises(ODataError) as caught:
            bob.run(bob.graph.me.events.by_event_id(copy.id).cancel.post(CancelPostRequestBody()))
        assert caught.value.response_status_code == 400
        bob.run(
            bob.graph.me.events.by_event_id(copy.id).accept.post(
                AcceptPostRequestBody(send_response=True, comment="ok")
            )
        )
    finally:
        bob.close()
    organizer_copy = graph_sdk.run(graph_sdk.graph.me.events.by_event_id(created.id).get())
    assert organizer_copy is not None
    assert organizer_copy.attendees is not None
    assert organizer_copy.attendees[0].status is not None
    assert organizer_copy.attendees[0].status.response == ResponseType.Accepted
    assert [m.kind for m in graph_emulator.mail_log(graph_bob)] == ["response"]
    graph_sdk.run(
        graph_sdk.graph.me.events.by_event_id(created.id).cancel.post(
            CancelPostRequestBody(comment="Off")
        )
    )
    kinds = [(m.kind, m.recipient) for m in graph_emulator.mail_log("alice@example.com")]
    assert kinds == [("invitation", "bob@example.com"), ("cancellation", "bob@example.com")]
