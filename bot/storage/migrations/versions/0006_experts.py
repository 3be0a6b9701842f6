"""Experts: each workspace's experts channel, questions sent to it, saved answers and their uses.

Revision ID: 0006_experts
Revises: 0005_installs_and_question_log
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_experts"
down_revision = "0005_installs_and_question_log"
branch_labels = None
depends_on = None


def _time(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "experts_channels",
        sa.Column("team", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("set_by", sa.String(64), nullable=True),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("team", name="pk_experts_channels"),
    )
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("team", sa.String(32), nullable=False),
        sa.Column("asker", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("thread_ts", sa.String(32), nullable=True),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("experts_channel", sa.String(32), nullable=False),
        sa.Column("expert_ts", sa.String(32), nullable=True),
        sa.Column("expert", sa.String(32), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        _time("answered_at", nullable=True),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_escalations"),
        sa.UniqueConstraint("key", name="uq_escalations_key"),
    )
    op.create_index(
        "ix_escalations_team_experts_channel_expert_ts",
        "escalations",
        ["team", "experts_channel", "expert_ts"],
    )
    op.create_index("ix_escalations_team_created_at", "escalations", ["team", "created_at"])
    op.create_table(
        "saved_answers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team", sa.String(32), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("expert", sa.String(32), nullable=False),
        sa.Column("saved_by", sa.String(32), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        _time("answered_at"),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_saved_answers"),
        sa.UniqueConstraint("escalation_id", name="uq_saved_answers_escalation_id"),
    )
    op.create_index("ix_saved_answers_team", "saved_answers", ["team"])
    op.create_table(
        "saved_answer_uses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team", sa.String(32), nullable=False),
        sa.Column("saved_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("message_ts", sa.String(32), nullable=True),
        _time("used_at"),
        sa.PrimaryKeyConstraint("id", name="pk_saved_answer_uses"),
    )
    op.create_index("ix_saved_answer_uses_saved_id", "saved_answer_uses", ["saved_id"])
    op.create_index("ix_saved_answer_uses_team_used_at", "saved_answer_uses", ["team", "used_at"])


def downgrade() -> None:
    op.drop_index("ix_saved_answer_uses_team_used_at", table_name="saved_answer_uses")
    op.drop_index("ix_saved_answer_uses_saved_id", table_name="saved_answer_uses")
    op.drop_table("saved_answer_uses")
    op.drop_index("ix_saved_answers_team", table_name="saved_answers")
    op.drop_table("saved_answers")
    op.drop_index("ix_escalations_team_created_at", table_name="escalations")
    op.drop_index("ix_escalations_team_experts_channel_expert_ts", table_name="escalations")
    op.drop_table("escalations")
    op.drop_table("experts_channels")
