"""true to the job centre's process: intake, judged absences, two signatures, follow-ups

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 09:00:00

- ``enrolment.intake_on``: the daily attendance requirement starts the day after it;
  filled from the first plan's start for aspirants who already have one.
- ``enrolment.social_worker_id``: the social worker who receives the aspirant's statements.
- Absences are judged by the coach: ``attendance_record.judged_by_id``/``judged_at`` and
  ``absence_report.judgement``/``judged_by_id``/``judged_at``. Days the software excused on
  its own (an absence reported in advance) become "reported", waiting for the coach; days a
  coach marked keep their status with the coach as the judge.
- ``attendance_policy.alert_delay_minutes`` (ask first, then alert) and ``absence_reasons``.
- ``attendance_day.alerted_at``/``weekly_at`` and ``coach_alert.sent_at``: alerts wait for
  the aspirant's answer; weekly statements to social workers. Days and alerts of earlier
  releases count as alerted and sent already.
- ``plan_milestone.confirmed_at``/``questions_at`` (the aspirant's signature) and
  ``measure_on``; plans done before count as confirmed (one signature was the rule then).
- ``exit_follow_up``: self-supporting six months after leaving.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.models.base import UTCDateTime

revision: str = '0012'
down_revision: str | Sequence[str] | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALL_REASONS = "ill,sick_child,job_interview,appointment,other"


def upgrade() -> None:
    with op.batch_alter_table('enrolment') as batch:
        batch.add_column(sa.Column('intake_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('social_worker_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_enrolment_social_worker_id_person', 'person',
                                 ['social_worker_id'], ['id'])
        batch.create_index('ix_enrolment_social_worker_id', ['social_worker_id'])
    with op.batch_alter_table('attendance_record') as batch:
        batch.add_column(sa.Column('judged_by_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('judged_at', UTCDateTime(), nullable=True))
        batch.create_foreign_key('fk_attendance_record_judged_by_id_person', 'person',
                                 ['judged_by_id'], ['id'])
    with op.batch_alter_table('absence_report') as batch:
        batch.add_column(sa.Column('judgement', sa.Enum('valid', 'not_valid',
                                                        name='judgement', native_enum=False,
                                                        create_constraint=False, length=12),
                                   nullable=True))
        batch.add_column(sa.Column('judged_by_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('judged_at', UTCDateTime(), nullable=True))
        batch.create_foreign_key('fk_absence_report_judged_by_id_person', 'person',
                                 ['judged_by_id'], ['id'])
    with op.batch_alter_table('attendance_policy') as batch:
        batch.add_column(sa.Column('alert_delay_minutes', sa.Integer(), nullable=False,
                                   server_default='30'))
        batch.add_column(sa.Column('absence_reasons', sa.String(100), nullable=False,
                                   server_default=ALL_REASONS))
    with op.batch_alter_table('attendance_day') as batch:
        batch.add_column(sa.Column('alerted_at', UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('weekly_at', UTCDateTime(), nullable=True))
    with op.batch_alter_table('coach_alert') as batch:
        batch.add_column(sa.Column('sent_at', UTCDateTime(), nullable=True))
    with op.batch_alter_table('plan_milestone') as batch:
        batch.add_column(sa.Column('confirmed_at', UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('questions_at', UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('measure_on', sa.Date(), nullable=True))
    op.create_table(
        'exit_follow_up',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('enrolment_id', sa.Integer(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('outcome', sa.Enum('self_supporting', 'not_self_supporting', 'unknown',
                                     name='followupoutcome', native_enum=False,
                                     create_constraint=False, length=24), nullable=True),
        sa.Column('recorded_at', UTCDateTime(), nullable=True),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['enrolment_id'], ['enrolment.id'],
                                name='fk_exit_follow_up_enrolment_id_enrolment'),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['person.id'],
                                name='fk_exit_follow_up_recorded_by_id_person'),
        sa.PrimaryKeyConstraint('id', name='pk_exit_follow_up'),
        sa.UniqueConstraint('enrolment_id', name='uq_exit_follow_up_enrolment_id'),
    )
    op.create_index('ix_exit_follow_up_due_on', 'exit_follow_up', ['due_on'])

    # --- existing data under the new rules ---------------------------------------------
    # The intake of aspirants whose plan has started is the day their first plan counts from.
    op.execute("""
        UPDATE enrolment SET intake_on = (
            SELECT MIN(m.counted_from) FROM plan_milestone m
            WHERE m.enrolment_id = enrolment.id AND m.kind = 'first_plan'
              AND m.cancelled_at IS NULL)
    """)
    # Days a coach marked: the coach judged them.
    op.execute("""
        UPDATE attendance_record SET judged_by_id = recorded_by_id, judged_at = recorded_at
        WHERE status IN ('excused', 'unexcused') AND recorded_by_id IS NOT NULL
    """)
    # Days the software excused or that were explained: reported, waiting for the coach.
    op.execute("""
        UPDATE attendance_record SET status = 'reported'
        WHERE recorded_by_id IS NULL AND absence_report_id IS NOT NULL
          AND status IN ('excused', 'unexcused')
    """)
    op.execute("UPDATE attendance_day SET alerted_at = detected_at")
    op.execute("UPDATE coach_alert SET sent_at = created_at")
    op.execute("UPDATE plan_milestone SET confirmed_at = done_at WHERE done_at IS NOT NULL")


def downgrade() -> None:
    op.execute("UPDATE attendance_record SET status = 'excused' WHERE status = 'reported'")
    op.drop_index('ix_exit_follow_up_due_on', table_name='exit_follow_up')
    op.drop_table('exit_follow_up')
    with op.batch_alter_table('plan_milestone') as batch:
        batch.drop_column('measure_on')
        batch.drop_column('questions_at')
        batch.drop_column('confirmed_at')
    with op.batch_alter_table('coach_alert') as batch:
        batch.drop_column('sent_at')
    with op.batch_alter_table('attendance_day') as batch:
        batch.drop_column('weekly_at')
        batch.drop_column('alerted_at')
    with op.batch_alter_table('attendance_policy') as batch:
        batch.drop_column('absence_reasons')
        batch.drop_column('alert_delay_minutes')
    with op.batch_alter_table('absence_report') as batch:
        batch.drop_constraint('fk_absence_report_judged_by_id_person', type_='foreignkey')
        batch.drop_column('judged_at')
        batch.drop_column('judged_by_id')
        batch.drop_column('judgement')
    with op.batch_alter_table('attendance_record') as batch:
        batch.drop_constraint('fk_attendance_record_judged_by_id_person', type_='foreignkey')
        batch.drop_column('judged_at')
        batch.drop_column('judged_by_id')
    with op.batch_alter_table('enrolment') as batch:
        batch.drop_index('ix_enrolment_social_worker_id')
        batch.drop_constraint('fk_enrolment_social_worker_id_person', type_='foreignkey')
        batch.drop_column('social_worker_id')
        batch.drop_column('intake_on')
