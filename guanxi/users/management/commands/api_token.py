from django.core.management.base import BaseCommand, CommandError

from guanxi.users.models import User
from guanxi.users.services import api_token_create


class Command(BaseCommand):
    help = "Create a personal API token for USERNAME and print it (shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="command line")

    def handle(self, *args, username: str, name: str, **options):
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user named {username!r}.")
        _token, secret = api_token_create(user=user, name=name)
        self.stdout.write(secret)
