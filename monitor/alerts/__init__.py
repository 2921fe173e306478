"""Alerts: the outbox delivered over its channels (``delivery``), and the
channels themselves (``channels``: SMTP email, webhook), which the digest
uses too."""

from .channels import build_email, header_message_id, post_webhook, send_email
from .delivery import DeliveryReport, deliver_pending, queue_feed_alerts

__all__ = ["DeliveryReport", "build_email", "deliver_pending", "header_message_id",
           "post_webhook", "queue_feed_alerts", "send_email"]
