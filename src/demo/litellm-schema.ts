/** LiteLLM's tables (DDL of LITELLM.md §1.7) as the 2026 and 2025 releases create them: the demo's database and the tests'. */
export type LiteLLMSchemaShape = '2026' | '2025';

export function litellmDdl(shape: LiteLLMSchemaShape = '2026'): string {
  const only2026 = (text: string) => (shape === '2026' ? text : '');
  return `
CREATE TABLE "LiteLLM_ProxyModelTable" (
    "model_id"       TEXT         NOT NULL,
    "model_name"     TEXT         NOT NULL,
    "litellm_params" JSONB        NOT NULL,
    "model_info"     JSONB,
    ${only2026('"blocked"        BOOLEAN      NOT NULL DEFAULT false,')}
    "created_at"     TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_by"     TEXT         NOT NULL,
    "updated_at"     TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_by"     TEXT         NOT NULL,
    CONSTRAINT "LiteLLM_ProxyModelTable_pkey" PRIMARY KEY ("model_id")
);

CREATE TABLE "LiteLLM_UserTable" (
    "user_id"                TEXT             NOT NULL,
    "user_alias"             TEXT,
    "team_id"                TEXT,
    "sso_user_id"            TEXT,
    "organization_id"        TEXT,
    "object_permission_id"   TEXT,
    "password"               TEXT,
    "teams"                  TEXT[]           DEFAULT ARRAY[]::TEXT[],
    "user_role"              TEXT,
    "max_budget"             DOUBLE PRECISION,
    "spend"                  DOUBLE PRECISION NOT NULL DEFAULT 0.0,
    "user_email"             TEXT,
    "models"                 TEXT[],
    "metadata"               JSONB            NOT NULL DEFAULT '{}',
    "max_parallel_requests"  INTEGER,
    "tpm_limit"              BIGINT,
    "rpm_limit"              BIGINT,
    "budget_duration"        TEXT,
    "budget_reset_at"        TIMESTAMP(3),
    "allowed_cache_controls" TEXT[]           DEFAULT ARRAY[]::TEXT[],
    ${only2026('"policies"               TEXT[]           DEFAULT ARRAY[]::TEXT[],')}
    "model_spend"            JSONB            NOT NULL DEFAULT '{}',
    "model_max_budget"       JSONB            NOT NULL DEFAULT '{}',
    "created_at"             TIMESTAMP(3)     DEFAULT CURRENT_TIMESTAMP,
    "updated_at"             TIMESTAMP(3)     DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "LiteLLM_UserTable_pkey" PRIMARY KEY ("user_id")
);
CREATE UNIQUE INDEX "LiteLLM_UserTable_sso_user_id_key" ON "LiteLLM_UserTable" ("sso_user_id");
${only2026('CREATE INDEX "LiteLLM_UserTable_user_email_lower_idx" ON "LiteLLM_UserTable" (LOWER("user_email"));')}

CREATE TABLE "LiteLLM_Config" (
    "param_name"  TEXT  NOT NULL,
    "param_value" JSONB,
    CONSTRAINT "LiteLLM_Config_pkey" PRIMARY KEY ("param_name")
);
`;
}
