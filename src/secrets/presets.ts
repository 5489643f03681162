// Provider presets (the v1 user-secrets door, as Dreadnode's SDK uses it): a
// provider names the environment variable its key lives in, so that
// `create_secret_from_preset("openai", key)` stores OPENAI_API_KEY.
// SECRET_PRESETS replaces the list (config.ts).
import { z } from 'zod';
import { providerSchema, secretNameSchema } from './rules.ts';

export interface SecretPreset {
  readonly provider: string;
  /** The name of the secret a preset creates: an environment variable name. */
  readonly envVarName: string;
}

/** The common model and code-hosting providers, with the variables their own SDKs and CLIs read. */
export const DEFAULT_PRESETS: readonly SecretPreset[] = Object.freeze([
  { provider: 'openai', envVarName: 'OPENAI_API_KEY' },
  { provider: 'anthropic', envVarName: 'ANTHROPIC_API_KEY' },
  { provider: 'google', envVarName: 'GEMINI_API_KEY' },
  { provider: 'mistral', envVarName: 'MISTRAL_API_KEY' },
  { provider: 'groq', envVarName: 'GROQ_API_KEY' },
  { provider: 'together', envVarName: 'TOGETHER_API_KEY' },
  { provider: 'cohere', envVarName: 'COHERE_API_KEY' },
  { provider: 'deepseek', envVarName: 'DEEPSEEK_API_KEY' },
  { provider: 'xai', envVarName: 'XAI_API_KEY' },
  { provider: 'openrouter', envVarName: 'OPENROUTER_API_KEY' },
  { provider: 'huggingface', envVarName: 'HF_TOKEN' },
  { provider: 'github', envVarName: 'GITHUB_TOKEN' },
  { provider: 'gitlab', envVarName: 'GITLAB_TOKEN' },
]);

/** `provider=ENV_VAR_NAME[,provider=ENV_VAR_NAME...]`, as SECRET_PRESETS gives them. */
export const presetListSchema = z.string().transform((text, ctx): SecretPreset[] => {
  const presets: SecretPreset[] = [];
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [provider = '', envVarName = ''] = part.split('=').map((p) => p.trim());
    const ok = part.split('=').length === 2 && providerSchema.safeParse(provider).success && secretNameSchema.safeParse(envVarName).success;
    if (!ok) {
      ctx.addIssue({ code: 'custom', message: 'must be provider=ENV_VAR_NAME[,provider=ENV_VAR_NAME...], names of A-Z, 0-9 and _ starting with a letter' });
      return z.NEVER;
    }
    if (presets.some((p) => p.provider === provider)) {
      ctx.addIssue({ code: 'custom', message: `names the provider "${provider}" twice` });
      return z.NEVER;
    }
    presets.push({ provider, envVarName });
  }
  if (presets.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'names no preset' });
    return z.NEVER;
  }
  return presets;
});
