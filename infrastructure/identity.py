"""Cognito: who may open a WebSocket. The authorizer verifies this pool's JWTs."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infrastructure.nag import acknowledge


class Identity(Construct):
    """A self-service user pool (email sign-in) and a public app client for the web and mobile apps."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=True,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True),
            ),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            # A user's `sub` is their userId in every table: losing the pool orphans all data.
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.client = self.user_pool.add_client(
            "AppClient",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_password=True, user_srp=True),
            prevent_user_existence_errors=True,
            # Apps sign in through the Cognito API (SRP or password), not the hosted OAuth pages.
            disable_o_auth=True,
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG2",
            "MFA is optional (TOTP) rather than required: chat users sign in on phones and browsers with "
            "email and password, and forcing a second factor at sign-up is a product decision not yet made.",
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG8",
            "The PLUS feature plan (threat protection, billed per monthly active user) is not needed: "
            "ESSENTIALS covers sign-up, sign-in and JWT issuance, and the pool enforces a strong password "
            "policy and hides whether a user exists.",
        )

    def on_confirmation(self, function: lambda_.IFunction) -> None:
        """Cognito invokes `function` once an account is confirmed (the post-confirmation trigger).

        The pool then refers to the function, and a permission lets this pool invoke it; so the
        function must not refer to the pool (the authorizer may: it is another function).
        """
        self.user_pool.add_trigger(cognito.UserPoolOperation.POST_CONFIRMATION, function)

    @property
    def issuer(self) -> str:
        """The `iss` claim of this pool's tokens."""
        region = Stack.of(self).region
        return f"https://cognito-idp.{region}.amazonaws.com/{self.user_pool.user_pool_id}"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/.well-known/jwks.json"
