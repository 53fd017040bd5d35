// The core's SecretVault on AWS. A secured variable is an SSM Parameter Store SecureString parameter,
// standard tier, encrypted under the deployment's variables key: ECS's execution role reads it into
// the step container (the task definition's `secrets`, aws/task-definitions.ts), and nothing in
// Finale ever reads it back. A secured output variable is sealed for the run record under the same
// key (envelope encryption), and opened again by the step tasks of the same run.
//
// SSM over Secrets Manager: a standard parameter is free and holds 4 KB — VARIABLE_LIMITS.valueBytes,
// enough for an SSH private key — where a secret costs $0.40 a month each, and ECS's `valueFrom`
// takes either. The advanced tier (8 KB, $0.05 a month each) is not needed for 4 KB.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { DeleteParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { SecretVault, VaultAddress } from '../core/ports';
import { FinaleError } from '../vocabulary/errors';

export interface SsmVaultSettings {
  readonly ssm: SSMClient;
  readonly kms: KMSClient;
  /** The deployment's variables key (LAMBDA_ENV.variablesKeyArn). */
  readonly keyArn: string;
  /** The deployment's resource prefix: every parameter is under /<prefix>/variables/. */
  readonly prefix: string;
}

/**
 * The encryption context of every sealed output variable. IAM grants the step tasks the key only with
 * it, so their role cannot decrypt the SSM parameters (whose context SSM sets to the parameter's ARN).
 */
export const OUTPUT_CONTEXT = { finale: 'output-variable' } as const;

/** Where the parameters of a deployment's secured variables are: `/<prefix>/variables/`. */
export function variablesPath(prefix: string): string {
  return `/${prefix}/variables/`;
}

const SAFE = /^[A-Za-z0-9.-]$/;
const HEX_DIGIT = /^[0-9A-F]$/;

/**
 * One SSM path segment for any text: characters SSM allows in a name (letters, digits, `_.-`) stay,
 * others (`/` included) become `_XX` per UTF-8 byte, and a `_` that would read as such an escape is
 * escaped itself, so each text has a segment of its own (`acme`, `my_app` and `deploy.eu` stay).
 */
function pathSegment(text: string): string {
  const characters = [...text];
  return characters
    .map((character, index) => {
      if (SAFE.test(character)) return character;
      const next = characters.slice(index + 1, index + 3);
      if (character === '_' && !(next.length === 2 && next.every((c) => HEX_DIGIT.test(c)))) return '_';
      return [...Buffer.from(character, 'utf8')]
        .map((byte) => `_${byte.toString(16).toUpperCase().padStart(2, '0')}`)
        .join('');
    })
    .join('');
}

/** `acme/app` stays a path; a repository with an empty part (`a//b`) becomes one segment (`a_2F_2Fb`). */
function repositoryPath(repository: string): string {
  const parts = repository.split('/');
  return parts.every((part) => part !== '') ? parts.map(pathSegment).join('/') : pathSegment(repository);
}

/**
 * `repository`, or `deployment/<environment>` for `deployment:<environment>`. An environment named
 * `repository` is escaped (`_72epository`): read from the right, `…/repository/NAME` is then always a
 * repository variable, so no two variables share a parameter however many parts repositories have.
 */
function scopePath(scope: string): string {
  if (!scope.startsWith('deployment:')) return 'repository';
  const environment = pathSegment(scope.slice('deployment:'.length));
  return `deployment/${environment === 'repository' ? '_72epository' : environment}`;
}

/** `/<prefix>/variables/<repository>/<scope>/<NAME>`; names are already SSM-safe (checkVariableName). */
export function parameterName(prefix: string, address: VaultAddress): string {
  return `${variablesPath(prefix)}${repositoryPath(address.repository)}/${scopePath(address.scope)}/${address.name}`;
}

/** The parameter's ARN, as the task definition's `valueFrom` names it. */
export function parameterArn(
  where: { readonly partition: string; readonly region: string; readonly account: string },
  name: string,
): string {
  return `arn:${where.partition}:ssm:${where.region}:${where.account}:parameter${name}`;
}

const SEALED_FORMAT = 'kms:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function ssmVault(settings: SsmVaultSettings): SecretVault {
  const { ssm, kms, keyArn } = settings;
  const path = variablesPath(settings.prefix);

  return {
    async put(address, value) {
      const name = parameterName(settings.prefix, address);
      await ssm.send(
        new PutParameterCommand({
          Name: name,
          Value: value,
          Type: 'SecureString',
          Tier: 'Standard',
          KeyId: keyArn,
          Overwrite: true,
        }),
      );
      return name;
    },

    async remove(reference) {
      // IAM allows no other path either; this names the mistake instead of an AccessDenied.
      if (!reference.startsWith(path))
        throw new FinaleError(`${reference} is not a parameter of Finale's variables (${path}…)`);
      try {
        await ssm.send(new DeleteParameterCommand({ Name: reference }));
      } catch (error) {
        // Already gone (removed by hand, or an earlier attempt): what remove wants.
        if (!(error instanceof Error && error.name === 'ParameterNotFound')) throw error;
      }
    },

    async reveal(reference) {
      throw new FinaleError(
        `On AWS, Finale never reads a secured value back: ECS's execution role reads ${reference} into the step's task`,
      );
    },

    // Envelope encryption (a data key per value) rather than KMS Encrypt: Encrypt takes at most 4 KB,
    // and an output variable holding a secured value (a kubeconfig with a token) may be larger.
    async seal(value) {
      const key = await kms.send(
        new GenerateDataKeyCommand({ KeyId: keyArn, KeySpec: 'AES_256', EncryptionContext: OUTPUT_CONTEXT }),
      );
      if (!key.Plaintext || !key.CiphertextBlob) throw new FinaleError('KMS returned no data key');
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key.Plaintext, iv);
      const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
      const wrapped = Buffer.from(key.CiphertextBlob);
      const length = Buffer.alloc(2);
      length.writeUInt16BE(wrapped.length);
      return (
        SEALED_FORMAT + Buffer.concat([length, wrapped, iv, cipher.getAuthTag(), body]).toString('base64')
      );
    },

    async unseal(sealed) {
      if (!sealed.startsWith(SEALED_FORMAT))
        throw new FinaleError("A secured output variable is not in the AWS vault's format");
      const raw = Buffer.from(sealed.slice(SEALED_FORMAT.length), 'base64');
      const wrappedEnd = 2 + raw.readUInt16BE(0);
      const ivEnd = wrappedEnd + IV_BYTES;
      const key = await kms.send(
        new DecryptCommand({
          KeyId: keyArn,
          CiphertextBlob: raw.subarray(2, wrappedEnd),
          EncryptionContext: OUTPUT_CONTEXT,
        }),
      );
      if (!key.Plaintext) throw new FinaleError('KMS returned no data key');
      const decipher = createDecipheriv('aes-256-gcm', key.Plaintext, raw.subarray(wrappedEnd, ivEnd));
      decipher.setAuthTag(raw.subarray(ivEnd, ivEnd + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(ivEnd + TAG_BYTES)), decipher.final()]).toString(
        'utf8',
      );
    },
  };
}
