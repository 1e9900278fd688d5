"""A transition's writes in one round trip on PostgreSQL: the article's UPDATE and its records.

A state change writes the article's changed columns, its history row (with the acting user
and the reason), the transition record and the outbox event. Through the ORM that is four
statements, each a round trip to the database; on PostgreSQL ``save_with_records`` sends them
as one statement of data-modifying CTEs (``WITH u AS (UPDATE … RETURNING id), r0 AS (INSERT …
RETURNING …) …``), built by Django's own SQL compilers from the same model instances the ORM
would save. On SQLite (which has no data-modifying CTEs) the same instances are saved through
the ORM, in the same order.

Either way everything else happens as with ``save()``:

- only the columns that changed are written (``auto_now`` ones included), on the row in the
  state it was read in (django-fsm's concurrent-transition check: another writer that moved the
  state first is ``ConcurrentTransition``);
- the history row is built by django-simple-history's recorder and goes through
  ``pre_create_historical_record``, so the user-and-reason check
  (``editorial.workflow.audit``) and the actor's credit (``accounts.signals``) still run;
- ``pre_save`` and ``post_save`` are sent for every row written, so receivers see each one.

PostgreSQL's documentation, "Data-Modifying Statements in WITH": the sub-statements run
concurrently on one snapshot; each row is written once, and triggers fire as for the plain
statements.
"""

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from django.db import connections, router
from django.db.models import Model, sql
from django.db.models.signals import post_save, pre_save
from django.db.transaction import TransactionManagementError
from django.utils import timezone
from django_fsm import ConcurrentTransition
from simple_history.signals import post_create_historical_record, pre_create_historical_record

from editorial.workflow import chain


def values_of(instance: Model) -> dict:
    """{attname: value} of every concrete field: what ``changed_fields`` compares against."""
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def changed_fields(instance: Model, before: dict) -> list:
    """The concrete fields whose value differs from ``before`` (``values_of`` at read time),
    plus the ``auto_now`` ones, which every save writes. The primary key is never among them."""
    return [
        field
        for field in instance._meta.concrete_fields
        if not field.primary_key
        and (getattr(field, "auto_now", False) or getattr(instance, field.attname) != before[field.attname])
    ]


def history_row(instance: Model, history_type: str = "+"):
    """The history row django-simple-history would write for ``instance`` now ("+" created, "~"
    changed), not yet saved: for ``write_together``'s records. Returns None for a model without history.

    Sends ``pre_create_historical_record`` now, as the recorder does before its own save, so a
    missing user or reason is refused before anything is written (``MissingAuditContext``) and
    the actor is credited.
    """
    recorder = getattr(type(instance), "_audit_history", None)
    if recorder is None:
        return None
    history_date = getattr(instance, "_history_date", None) or timezone.now()
    history_user = recorder.get_history_user(instance)
    reason = recorder.get_change_reason_for_object(instance, history_type, None)
    model = getattr(type(instance), recorder.manager_name).model
    attrs = {field.attname: getattr(instance, field.attname) for field in recorder.fields_included(instance)}
    row = model(
        history_date=history_date,
        history_type=history_type,
        history_user=history_user,
        history_change_reason=reason,
        **attrs,
    )
    pre_create_historical_record.send(
        sender=model,
        instance=instance,
        history_date=history_date,
        history_user=history_user,
        history_change_reason=reason,
        history_instance=row,
        using=None,
    )
    row._history_of = instance
    return row


def in_one_statement(connection) -> bool:
    """Whether ``connection`` takes the writes as one statement (PostgreSQL's data-modifying CTEs)."""
    return connection.vendor == "postgresql" and connection.features.can_return_columns_from_insert


class Update(NamedTuple):
    """One row's UPDATE among ``write_together``'s writes.

    ``fields`` (model fields) are written from ``instance``. With ``state_field`` the row must
    still hold ``state_was`` there (django-fsm's concurrent-transition check). ``history``: the
    row's history row ("~") is written with it and ``pre_save``/``post_save`` are sent, as with
    ``save(update_fields=…)``; without it the UPDATE is a counter's, as ``QuerySet.update()``
    writes one (no history, no signals).
    """

    instance: Model
    fields: list
    state_field: str | None = None
    state_was: object = None
    history: bool = True


def save_with_records(instance: Model, *, fields: list, state_field: str, state_was: str, records: Iterable) -> None:
    """Write ``instance``'s ``fields`` (on the row still in state ``state_was``), its history row
    ("~") and the unsaved ``records`` (model instances, written in order), in the caller's
    transaction: one statement on PostgreSQL, one per row elsewhere.

    Sets each written record's primary key (and other returned columns) as ``save()`` would.
    Raises ``ConcurrentTransition`` (nothing written) when the row is no longer in ``state_was``.
    """
    write_together([Update(instance, fields, state_field, state_was)], records)


def write_together(updates: Sequence[Update], records: Iterable = ()) -> None:
    """Write ``updates`` and then the unsaved ``records`` (model instances, history rows from
    ``history_row`` among them) in the caller's transaction: one statement on PostgreSQL, one
    per row elsewhere, with the signals each would send through the ORM.

    Sets each written record's primary key (and other returned columns) as ``save()`` would.
    Raises ``ConcurrentTransition`` when a row to update is gone or no longer in its
    ``state_was``: the statement's other writes are then undone with the caller's transaction,
    which the exception leaves (``TransactionManagementError`` outside a transaction).
    """
    records = [record for record in records if record is not None]
    if not updates and not records:
        return
    model = type(updates[0].instance) if updates else type(records[0])
    db = router.db_for_write(model)
    connection = connections[db]
    if not connection.in_atomic_block:
        raise TransactionManagementError("write_together writes in the caller's transaction (transaction.atomic).")
    if not in_one_statement(connection):
        _write_through_the_orm(updates, records, db=db)
        return
    quote = connection.ops.quote_name
    parts, params, selects, histories = [], [], [], []
    for index, update in enumerate(updates):
        instance = update.instance
        names = frozenset(field.name for field in update.fields)
        if update.history:
            pre_save.send(sender=type(instance), instance=instance, raw=False, using=db, update_fields=names)
        values = [(field, None, field.pre_save(instance, False)) for field in update.fields]
        if update.history:
            histories.append(history_row(instance, "~"))
        filters = {"pk": instance.pk}
        if update.state_field:
            filters[update.state_field] = update.state_was
        query = type(instance)._base_manager.using(db).filter(**filters).query.chain(sql.UpdateQuery)
        query.add_update_fields(values)
        update_sql, update_params = query.get_compiler(db).as_sql()
        parts.append(f"u{index} AS ({update_sql} RETURNING 1)")
        params.extend(update_params)
        selects.append(f"(SELECT count(*) FROM u{index})")  # noqa: S608
    rows = [history for history in histories if history is not None] + records
    for row in rows:
        pre_save.send(sender=type(row), instance=row, raw=False, using=db, update_fields=None)
    returned = []
    for index, row in enumerate(rows):
        row_sql, row_params, returning = _insert(row, db)
        parts.append(f"r{index} AS ({row_sql})")
        params.extend(row_params)
        selects.extend(f"(SELECT {quote(field.column)} FROM r{index})" for field in returning)  # noqa: S608
        returned.append(returning)
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(parts)} SELECT {', '.join(selects)}", params)  # noqa: S608 - compiled SQL
        result = list(cursor.fetchone())
    if any(result.pop(0) != 1 for _ in updates):
        raise ConcurrentTransition("A row changed state meanwhile: nothing was written.")

    for row, returning in zip(rows, returned, strict=True):
        for field in returning:
            setattr(row, field.attname, result.pop(0))
        row._state.adding, row._state.db = False, db
        row._clock_read = True  # the times the database's clock set are the row's (chain)
    for update in updates:
        if update.history:
            _after_save(update.instance, fields=update.fields, db=db)
    for row in rows:
        post_save.send(sender=type(row), instance=row, created=True, update_fields=None, raw=False, using=db)
        if hasattr(row, "_history_of"):
            _history_written(row)


def _history_written(row) -> None:
    """What django-simple-history sends once a history row is saved."""
    post_create_historical_record.send(
        sender=type(row),
        instance=row._history_of,
        history_instance=row,
        history_date=row.history_date,
        history_user=row.history_user,
        history_change_reason=row.history_change_reason,
        using=None,
    )


def _insert(row: Model, db: str) -> tuple[str, list, list]:
    """``INSERT … RETURNING`` of ``row`` as ``save()`` would compile it: (sql, params, returned fields)."""
    meta = row._meta
    pk_set = row._is_pk_set(meta)
    fields = [f for f in meta.local_concrete_fields if not f.generated and (pk_set or f is not meta.auto_field)]
    query = sql.InsertQuery(type(row))
    query.insert_values(fields, [row])
    compiler = query.get_compiler(using=db)
    returning = [*meta.db_returning_fields, *chain.clocked_fields(type(row))]
    compiler.returning_fields = returning
    [(statement, params)] = compiler.as_sql()
    return statement, list(params), returning


def _after_save(instance: Model, *, fields: list, db: str) -> None:
    """``post_save`` of the updated instance, without a second history row (it is written)."""
    instance.skip_history_when_saving = True
    try:
        post_save.send(
            sender=type(instance),
            instance=instance,
            created=False,
            update_fields=frozenset(f.name for f in fields),
            raw=False,
            using=db,
        )
    finally:
        del instance.skip_history_when_saving
    instance._state.db = db
    if hasattr(instance, "_update_initial_state"):  # django-fsm's ConcurrentTransitionMixin, as its save() does
        instance._update_initial_state()


def _write_through_the_orm(updates: Sequence[Update], records: list, *, db: str) -> None:
    """SQLite: the same rows through the ORM, one statement each, in the same order."""
    for update in updates:
        instance = update.instance
        if update.history:
            instance.save(using=db, update_fields=[field.name for field in update.fields])
            continue
        filters = {"pk": instance.pk}
        if update.state_field:
            filters[update.state_field] = update.state_was
        values = {field.attname: getattr(instance, field.attname) for field in update.fields}
        if not type(instance)._base_manager.using(db).filter(**filters).update(**values):
            raise ConcurrentTransition("A row changed state meanwhile: nothing was written.")
    for record in records:
        record.save(using=db)
        if hasattr(record, "_history_of"):
            _history_written(record)
