from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required, permission_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import check_for_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.activities.models import Meeting
from guanxi.activities.services import follow_ups_handover, meetings_handover
from guanxi.commerce.services import commerce_handover
from guanxi.customers.models import Customer
from guanxi.customers.services import user_handover
from guanxi.sales.models import Lead, Opportunity
from guanxi.sales.services import leads_handover, opportunities_handover
from guanxi.users.forms import ApiTokenForm, HandoverForm, LoginForm, ProfileForm
from guanxi.users.models import User
from guanxi.users.services import api_token_create, api_token_revoke

LANGUAGE_COOKIE = "django_language"


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "users/login.html"
    redirect_authenticated_user = True


@login_not_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the UI language; stored on the user (when logged in), the session and a cookie."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "/"
    response = redirect(next_url)
    if language and check_for_language(language):
        request.session["guanxi_language"] = language
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, samesite="Lax")
        if request.user.is_authenticated:
            User.objects.filter(pk=request.user.pk).update(language=language)
    return response


def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    form = ProfileForm(request.POST or None, instance=user, prefix="profile")
    token_form = ApiTokenForm(prefix="token")
    if request.method == "POST" and form.is_valid():
        form.save()
        response = redirect("users:profile")
        if user.language:
            request.session["guanxi_language"] = user.language
        else:  # back to the browser's language
            request.session.pop("guanxi_language", None)
            response.delete_cookie(LANGUAGE_COOKIE)
        messages.success(request, _("Your profile was saved."))
        return response
    return render(
        request,
        "users/profile.html",
        {
            "form": form,
            "token_form": token_form,
            "tokens": user.api_tokens.all(),
        },
    )


@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    form = ApiTokenForm(request.POST, prefix="token")
    if not form.is_valid():
        messages.error(request, _("Give the token a name."))
        return redirect("users:profile")
    _token, secret = api_token_create(user=user, name=form.cleaned_data["name"])
    return render(
        request,
        "users/profile.html",
        {
            "form": ProfileForm(instance=user, prefix="profile"),
            "token_form": ApiTokenForm(prefix="token"),
            "tokens": user.api_tokens.all(),
            "new_secret": secret,
        },
    )


@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    if api_token_revoke(user=user, token_id=token_id):
        messages.success(request, _("The token was revoked; it no longer works."))
    else:
        messages.error(request, _("No such active token."))
    return redirect("users:profile")


@permission_required("users.manage_users", raise_exception=True)
def handover(request: HttpRequest) -> HttpResponse:
    """Move everything a departing user owns to one or several colleagues in one step."""
    # GET ?from_user=… previews how many customers would move before anything is posted.
    form = HandoverForm(request.POST or None, initial={"from_user": request.GET.get("from_user")})
    counts = None
    if request.method == "POST" and form.is_valid():
        actor = request.user
        assert isinstance(actor, User)
        to_users = list(form.cleaned_data["to_users"])
        with transaction.atomic():
            leads = leads_handover(
                actor=actor, from_user=form.cleaned_data["from_user"], to_users=to_users
            )
            opportunities = opportunities_handover(
                actor=actor, from_user=form.cleaned_data["from_user"], to_users=to_users
            )
            result = user_handover(
                actor=actor,
                from_user=form.cleaned_data["from_user"],
                to_users=to_users,
                deactivate=form.cleaned_data["deactivate"],
            )
            # After the customers, so that a meeting follows its customer's new owner.
            meetings = meetings_handover(
                actor=actor, from_user=form.cleaned_data["from_user"], to_users=to_users
            )
            documents = commerce_handover(
                actor=actor, from_user=form.cleaned_data["from_user"], to_users=to_users
            )
            follow_ups = follow_ups_handover(
                actor=actor, from_user=form.cleaned_data["from_user"], to_users=to_users
            )
        total = sum(result.values())
        messages.success(
            request,
            ngettext(
                "%(count)d customer was handed over.",
                "%(count)d customers were handed over.",
                total,
            )
            % {"count": total},
        )
        lead_total = sum(leads.values())
        messages.success(
            request,
            ngettext(
                "%(count)d open lead was handed over.",
                "%(count)d open leads were handed over.",
                lead_total,
            )
            % {"count": lead_total},
        )
        opportunity_total = sum(opportunities.values())
        messages.success(
            request,
            ngettext(
                "%(count)d open opportunity was handed over.",
                "%(count)d open opportunities were handed over.",
                opportunity_total,
            )
            % {"count": opportunity_total},
        )
        meeting_total = sum(meetings.values())
        messages.success(
            request,
            ngettext(
                "%(count)d future meeting was handed over.",
                "%(count)d future meetings were handed over.",
                meeting_total,
            )
            % {"count": meeting_total},
        )
        follow_up_total = sum(follow_ups.values())
        messages.success(
            request,
            ngettext(
                "%(count)d open follow-up or to-do was handed over.",
                "%(count)d open follow-ups and to-dos were handed over.",
                follow_up_total,
            )
            % {"count": follow_up_total},
        )
        messages.success(
            request,
            _(
                "Open quotes: %(quotes)d, undelivered orders: %(orders)d and unpaid "
                "receivables: %(invoices)d were handed over."
            )
            % documents,
        )
        return redirect("users:handover")
    from_user = form["from_user"].value()
    lead_count = opportunity_count = meeting_count = None
    if from_user and str(from_user).isascii() and str(from_user).isdigit():
        counts = Customer.objects.alive().filter(owner_id=from_user).count()
        lead_count = Lead.objects.filter(
            owner_id=from_user, status__in=Lead.OPEN_STATUSES, deleted_at__isnull=True
        ).count()
        opportunity_count = Opportunity.objects.filter(
            owner_id=from_user, status=Opportunity.Status.OPEN, deleted_at__isnull=True
        ).count()
        meeting_count = Meeting.objects.filter(
            organiser_id=from_user, cancelled_at__isnull=True, start_at__gte=timezone.now()
        ).count()
    return render(
        request,
        "users/handover.html",
        {
            "form": form,
            "owned_count": counts,
            "lead_count": lead_count,
            "opportunity_count": opportunity_count,
            "meeting_count": meeting_count,
        },
    )


password_change = auth_views.PasswordChangeView.as_view(
    template_name="users/password_change.html", success_url="/profile/"
)
password_reset = login_not_required(
    auth_views.PasswordResetView.as_view(
        template_name="users/password_reset.html",
        email_template_name="users/password_reset_email.txt",
        subject_template_name="users/password_reset_subject.txt",
        success_url="/password-reset/sent/",
    )
)
password_reset_sent = login_not_required(
    auth_views.PasswordResetDoneView.as_view(template_name="users/password_reset_sent.html")
)
password_reset_confirm = login_not_required(
    auth_views.PasswordResetConfirmView.as_view(
        template_name="users/password_reset_confirm.html", success_url="/password-reset/done/"
    )
)
password_reset_complete = login_not_required(
    auth_views.PasswordResetCompleteView.as_view(template_name="users/password_reset_complete.html")
)
