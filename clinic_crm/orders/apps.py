from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "clinic_crm.orders"
    label = "orders"
