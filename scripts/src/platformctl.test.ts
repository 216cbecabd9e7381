import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { randomBytes, randomUUID } from 'node:crypto';
import { createEvent, loadConfig, withModuleRuntime, type ModuleRuntime } from '@platform/kernel';
import identityModule from '@platform/identity';
import authzModule from '@platform/authz';
import auditModule, { type AuditConfig, type AuditServices } from '@platform/audit';
import { serviceCredential } from '@platform/kernel/gateway';

const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const CLI = join(REPO, 'scripts', 'src', 'platformctl.ts');
const REGISTER = join(REPO, 'scripts', 'register.mjs');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI in a child process on Node 22 (node_modules/.bin first on PATH). */
function platformctl(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...extraEnv,
    PATH: `${join(REPO, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
  };
  delete env.PLATFORM_ROOT;
  return new Promise((done) => {
    execFile(
      'node',
      ['--import', REGISTER, CLI, ...args],
      { env, cwd: REPO, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

type ManifestFixture = Record<string, unknown> & { name: string };

/** A repository tree with only `subgraphs/<dir>/module.yaml` files (no sources). */
function fixture(modules: Record<string, ManifestFixture>): string {
  const root = mkdtempSync(join(tmpdir(), 'platformctl-'));
  roots.push(root);
  for (const [dir, manifest] of Object.entries(modules)) {
    mkdirSync(join(root, 'subgraphs', dir), { recursive: true });
    writeFileSync(
      join(root, 'subgraphs', dir, 'module.yaml'),
      stringify({ version: '0.1.0', kernel: '^0.1.0', ...manifest }),
    );
  }
  return root;
}

const identity: ManifestFixture = {
  name: 'identity',
  permissions: [{ name: 'identity.user.read', description: 'Read users' }],
  events: { publishes: ['identity.user.deleted'], consumes: [] },
};
const blog: ManifestFixture = {
  name: 'blog',
  dependencies: { identity: '^0.1.0' },
  permissions: [
    { name: 'blog.post.read', description: 'Read posts' },
    { name: 'blog.post.create', description: 'Write posts' },
  ],
  events: { publishes: ['blog.post.created'], consumes: ['identity.user.deleted'] },
};

const validate = (root: string): Promise<Run> => platformctl(['modules', 'validate', '--root', root]);

describe('platformctl modules validate', () => {
  it('accepts a valid set of modules', async () => {
    const result = await validate(fixture({ identity, blog }));
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('2 modules valid');
    expect(result.code).toBe(0);
  });

  // Each case: the manifests, then what the output must say about which module.
  const cases: Array<[string, Record<string, ManifestFixture>, string, RegExp[]]> = [
    [
      'a duplicate module name',
      { identity, blog, 'blog-copy': blog },
      'blog',
      [/registered twice/, /subgraphs\/blog-copy/],
    ],
    ['a missing dependency', { blog }, 'blog', [/missing dependency/, /"identity"/]],
    [
      'an incompatible dependency version',
      { identity: { ...identity, version: '0.1.0' }, blog: { ...blog, dependencies: { identity: '^1.0.0' } } },
      'blog',
      [/incompatible dependency/, /identity" \^1\.0\.0 but identity is 0\.1\.0/],
    ],
    [
      'a dependency cycle',
      { identity: { ...identity, dependencies: { blog: '^0.1.0' } }, blog },
      'blog',
      [/cycle/, /blog -> identity -> blog/],
    ],
    [
      'a bad permission name',
      { identity, blog: { ...blog, permissions: [{ name: 'Blog.Post', description: 'Shouting' }] } },
      'blog',
      [/subgraphs\/blog\/module\.yaml permissions\.0\.name/, /module\.resource\.action/, /"Blog\.Post"/],
    ],
    [
      'an incompatible kernel range',
      { identity: { ...identity, kernel: '^9.0.0' } },
      'identity',
      [/incompatible kernel/, /\^9\.0\.0/],
    ],
    [
      'a folder named differently from its module',
      { users: identity },
      'identity',
      [/subgraphs\/users/, /subgraphs\/identity/],
    ],
  ];

  it.each(cases)('rejects %s, naming the module and the problem', async (_label, modules, module, expected) => {
    const result = await validate(fixture(modules));
    expect(result.code).toBe(1);
    const line = result.stderr
      .split('\n')
      .find((l) => l.includes(`- ${module}: `) && expected.every((re) => re.test(l)));
    expect({ line, stderr: result.stderr }).toEqual({ line: expect.any(String), stderr: result.stderr });
  });

  it('reports every problem at once', async () => {
    const result = await validate(
      fixture({
        blog: { ...blog, permissions: [{ name: 'Blog.Post', description: 'x' }] },
        audit: { name: 'audit', dependencies: { nope: '^1.0.0' } },
      }),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/audit: missing dependency/);
    expect(result.stderr).toMatch(/blog: subgraphs\/blog\/module\.yaml permissions\.0\.name/);
  });

  it("reports a module's rule-coverage problems from its sources", async () => {
    const root = fixture({
      notes: { name: 'notes', permissions: [{ name: 'notes.note.read', description: 'Read notes' }] },
    });
    // The fixture's module.ts resolves the kernel and type-graphql from this repository.
    symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'), 'dir');
    mkdirSync(join(root, 'subgraphs', 'notes', 'src'));
    writeFileSync(
      join(root, 'subgraphs', 'notes', 'src', 'module.ts'),
      `import { defineModule, permission } from '@platform/kernel';
import { Query, Resolver } from 'type-graphql';

@Resolver()
class NoteResolver {
  @Query(() => String)
  note(): string {
    return 'hello';
  }

  @Query(() => String)
  secret(): string {
    return 'psst';
  }
}

export default defineModule({
  manifest: new URL('../module.yaml', import.meta.url),
  entities: [],
  migrations: [],
  resolvers: [NoteResolver],
  rules: { Query: { note: permission('notes.note.delete') } },
});
`,
    );
    const result = await validate(root);
    expect(result.code).toBe(1);
    const where = 'notes: subgraphs/notes/src/module.ts';
    expect(result.stderr).toContain(`${where}: Query.secret has no rule`);
    expect(result.stderr).toContain(
      `${where}: rule names permission notes.note.delete, which module.yaml does not declare`,
    );
    expect(result.stderr).toContain(`${where}: module.yaml declares notes.note.read, which no rule uses`);
  });
});

describe('platformctl modules list and info', () => {
  it('lists name, version, dependencies and counts', async () => {
    const result = await platformctl(['modules', 'list', '--root', fixture({ identity, blog })]);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toMatch(
      /^NAME\s+VERSION\s+DEPENDENCIES\s+PERMISSIONS\s+PUBLISHES\s+CONSUMES$/,
    );
    expect(result.stdout).toMatch(/^blog\s+0\.1\.0\s+identity@\^0\.1\.0\s+2\s+1\s+1$/m);
    expect(result.stdout).toMatch(/^identity\s+0\.1\.0\s+-\s+1\s+1\s+0$/m);
  });

  it('shows permissions, dependents and event publishers', async () => {
    const result = await platformctl(['modules', 'info', 'identity', '--root', fixture({ identity, blog })]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/identity\.user\.read\s+Read users/);
    expect(result.stdout).toMatch(/dependents:\n {2}blog \^0\.1\.0/);
  });

  it('exits 2 on usage errors', async () => {
    const root = fixture({ identity });
    expect((await platformctl(['modules', 'info', 'nope', '--root', root])).code).toBe(2);
    expect((await platformctl(['modules', 'frobnicate', '--root', root])).code).toBe(2);
    expect((await platformctl(['modules', 'list', '--root', join(root, 'missing')])).code).toBe(2);
  });
});

describe('platformctl seed', () => {
  it('creates the administrator with the admin role, repairs a lost role, refuses a taken address unless adopting, and a weak password', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'platformctl-seed-'));
    roots.push(dataDir);
    const tag = randomBytes(4).toString('hex');
    const schemas = { identity: `t_${tag}_identity`, authz: `t_${tag}_authz` };
    const env = {
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      PLATFORM_ENV: 'test',
      PLATFORM_SERVICES__IDENTITY__DB_SCHEMA: schemas.identity,
      PLATFORM_SERVICES__AUTHZ__DB_SCHEMA: schemas.authz,
      SEED_ADMIN_EMAIL: 'Chief@Example.com',
      SEED_ADMIN_PASSWORD: 'a long and private passphrase',
    };
    const config = loadConfig({ env: { ...process.env, ...env }, cwd: REPO });
    const inIdentity = <T>(sql: string, params: unknown[] = []): Promise<T[]> =>
      withModuleRuntime(identityModule, config, (runtime) => runtime.em().execute<T[]>(sql, params));
    const inAuthz = <T>(sql: string, params: unknown[] = []): Promise<T[]> =>
      withModuleRuntime(authzModule, config, (runtime) => runtime.em().execute<T[]>(sql, params));
    const rolesOf = async (email: string): Promise<string[]> => {
      const [user] = await inIdentity<{ id: string }>(`select id from "${schemas.identity}"."user" where email = ?`, [
        email,
      ]);
      const rows = await inAuthz<{ name: string }>(
        `select r.name from "${schemas.authz}"."role_assignment" a join "${schemas.authz}"."role" r on r.id = a.role_id
         where a.user_id = ? order by r.name`,
        [user!.id],
      );
      return rows.map((row) => row.name);
    };
    try {
      const first = await platformctl(['seed'], env);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      expect(first.stdout).toContain('identity: seeded');
      expect(first.stdout).toMatch(/administrator chief@example\.com \([0-9a-f-]{36}\): created/);
      expect(first.stdout).toContain('roles user, admin (given now: user, admin)');
      expect(await rolesOf('chief@example.com')).toEqual(['admin', 'user']);
      expect(await inIdentity(`select email, email_verified from "${schemas.identity}"."user"`)).toEqual([
        { email: 'chief@example.com', email_verified: true },
      ]);

      // The production drift: authz started without SEED_ADMIN_* gave the account only `user`.
      await inAuthz(
        `delete from "${schemas.authz}"."role_assignment" where role_id = (select id from "${schemas.authz}"."role" where name = 'admin')`,
      );
      expect(await rolesOf('chief@example.com')).toEqual(['user']);
      const repaired = await platformctl(['seed'], env);
      expect(repaired.code).toBe(0);
      expect(repaired.stdout).toContain('already present (password unchanged)');
      expect(repaired.stdout).toContain('(given now: admin)');
      expect(await rolesOf('chief@example.com')).toEqual(['admin', 'user']);
      const again = await platformctl(['seed'], env);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('roles user, admin already held');

      // Someone registered the configured address before the seed: not made administrator...
      await inIdentity(
        `insert into "${schemas.identity}"."user" (id, email, display_name, email_verified, created_at, updated_at, password_hash)
         values (?, 'taken@example.com', 'Squatter', false, now(), now(), null)`,
        [randomUUID()],
      );
      const taken = { ...env, SEED_ADMIN_EMAIL: 'taken@example.com' };
      const refused = await platformctl(['seed'], taken);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        'identity: seed failed: An account with taken@example.com exists that the seed did not create',
      );
      expect(refused.stderr).toContain('authz: not seeded: identity failed before it');
      expect(await rolesOf('taken@example.com')).toEqual([]);
      // ...unless the operator adopts it: the seed's password, verified, administrator.
      const adopted = await platformctl(['seed', '--adopt-existing'], taken);
      expect(adopted.code).toBe(0);
      expect(adopted.stdout).toContain('adopted: password set from SEED_ADMIN_PASSWORD, sessions ended');
      expect(await rolesOf('taken@example.com')).toEqual(['admin', 'user']);
      expect(
        await inIdentity(
          `select email_verified, seeded_at is not null as seeded from "${schemas.identity}"."user" where email = 'taken@example.com'`,
        ),
      ).toEqual([{ email_verified: true, seeded: true }]);

      const weak = await platformctl(['seed'], {
        ...env,
        SEED_ADMIN_EMAIL: 'other@example.com',
        SEED_ADMIN_PASSWORD: 'password1',
      });
      expect(weak.code).toBe(1);
      expect(weak.stderr).toContain('identity: seed failed');
    } finally {
      if (config.database.url) {
        await inIdentity(`drop schema if exists "${schemas.identity}" cascade`);
        await inAuthz(`drop schema if exists "${schemas.authz}" cascade`);
      }
    }
  }, 180_000); // seven CLI runs with password hashing: slow when the machine is busy
});

describe('platformctl service-credential', () => {
  it('prints the credential the services accept, derived from the service secret', async () => {
    const secret = 'a service secret of more than thirty-two characters';
    const result = await platformctl(['service-credential'], { PLATFORM_ENV: 'test', SERVICE_SECRET: secret });
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(serviceCredential(secret));
    expect(result.stdout).not.toContain(secret);
  });

  it('refuses to make one up in production', async () => {
    const result = await platformctl(['service-credential'], { PLATFORM_ENV: 'production' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('SERVICE_SECRET');
  });
});

describe('platformctl audit', () => {
  it('verifies the chain, prunes into an archive, and names the first broken record with exit 1', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'platformctl-audit-'));
    roots.push(dataDir);
    const schema = `t_${randomBytes(4).toString('hex')}_audit`;
    const env = {
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      PLATFORM_ENV: 'test',
      PLATFORM_SERVICES__AUDIT__DB_SCHEMA: schema,
    };
    const config = loadConfig({ env: { ...process.env, ...env }, cwd: REPO });
    const inAudit = <T>(job: (runtime: ModuleRuntime<AuditConfig>, services: AuditServices) => Promise<T>) =>
      withModuleRuntime(auditModule, config, job);
    const daysAgo = (days: number) => new Date(Date.now() - days * 24 * 60 * 60 * 1000).toISOString();
    try {
      await inAudit(async (_runtime, services) => {
        for (const days of [60, 50, 40, 0]) {
          const event = createEvent('blog', 'blog.post.created', { postId: `post-${days}`, authorId: 'a' });
          await services.consumer.handle({ ...event, occurredAt: daysAgo(days) });
        }
      });

      const valid = await platformctl(['audit', 'verify'], env);
      expect(valid).toMatchObject({ code: 0, stdout: expect.stringContaining('audit chain valid: 4 records checked') });

      expect((await platformctl(['audit', 'prune'], env)).code).toBe(2); // no retention configured
      expect((await platformctl(['audit', 'prune', '--older-than-days', '0'], env)).code).toBe(2);
      const pruned = await platformctl(['audit', 'prune', '--older-than-days', '30'], env);
      expect(pruned).toMatchObject({ code: 0, stdout: expect.stringContaining('pruned 3 audit records') });
      expect(readdirSync(join(dataDir, 'audit', 'archive'))).toEqual([expect.stringMatching(/^audit-0+1-0+3\.jsonl$/)]);
      expect((await platformctl(['audit', 'verify'], env)).stdout).toContain(
        'audit chain valid: 1 records checked (from the checkpoint after record 3); signed up to record 3',
      );

      const tampered = await inAudit(async (runtime) => {
        const table = `"${schema}"."audit_event"`;
        return runtime.em().transactional(async (tx) => {
          await tx.execute(`alter table ${table} disable trigger user`);
          const [row] = await tx.execute<Array<{ id: string }>>(
            `update ${table} set target_id = 'someone-else' returning id`,
          );
          await tx.execute(`alter table ${table} enable trigger user`);
          return row!.id;
        });
      });
      const broken = await platformctl(['audit', 'verify'], env);
      expect(broken.code).toBe(1);
      expect(broken.stderr).toContain('audit chain BROKEN (RECORD_CHANGED): record 4 does not match its hash');
      expect(broken.stdout).toContain(`first broken record (seq 4, id ${tampered})`);
      expect(broken.stdout).toContain('"targetId": "someone-else"');
    } finally {
      if (config.database.url) {
        await inAudit(async (runtime) => {
          await runtime.em().execute(`drop schema if exists "${schema}" cascade`);
        });
      }
    }
  }, 90_000);

  it('exports the chain and verifies the export offline, reports the oldest records deleted behind an unsigned checkpoint, prints the grants', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'platformctl-audit-'));
    roots.push(dataDir);
    const schema = `t_${randomBytes(4).toString('hex')}_audit`;
    const env = {
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      PLATFORM_ENV: 'test',
      PLATFORM_SERVICES__AUDIT__DB_SCHEMA: schema,
    };
    const config = loadConfig({ env: { ...process.env, ...env }, cwd: REPO });
    const inAudit = <T>(job: (runtime: ModuleRuntime<AuditConfig>, services: AuditServices) => Promise<T>) =>
      withModuleRuntime(auditModule, config, job);
    const daysAgo = (days: number) => new Date(Date.now() - days * 24 * 60 * 60 * 1000).toISOString();
    const file = join(dataDir, 'export.jsonl');
    try {
      await inAudit(async (_runtime, services) => {
        for (const days of [60, 50, 40, 2, 1, 0]) {
          const event = createEvent('blog', 'blog.post.created', { postId: `post-${days}`, authorId: 'a' });
          await services.consumer.handle({ ...event, occurredAt: daysAgo(days) });
        }
      });
      expect((await platformctl(['audit', 'prune', '--older-than-days', '30'], env)).code).toBe(0);

      const exported = await platformctl(['audit', 'verify', '--export', file], env);
      expect(exported).toMatchObject({ code: 0 });
      expect(exported.stdout).toMatch(
        new RegExp(
          `exported 3 records, 1 checkpoints and 1 keys \\(head at record 6\\) to ${file}, sha256 [0-9a-f]{64}`,
        ),
      );
      // Offline: no database at all (this URL leads nowhere).
      const offline = { ...env, DATABASE_URL: 'postgres://nobody@127.0.0.1:9/nowhere' };
      const checked = await platformctl(['audit', 'verify', '--file', file], offline);
      expect(checked).toMatchObject({ code: 0 });
      expect(checked.stdout).toContain('(every key in the file: pin them with --trust)');
      expect(checked.stdout).toContain('audit chain valid: 3 records checked (from the checkpoint after record 3)');
      const kid = /keys accepted: ([\w-]{43})/.exec(checked.stdout)![1]!;
      expect((await platformctl(['audit', 'verify', '--file', file, '--trust', kid], offline)).code).toBe(0);
      const pinned = await platformctl(['audit', 'verify', '--file', file, '--trust', 'x'.repeat(43)], offline);
      expect(pinned.code).toBe(1);
      expect(pinned.stderr).toMatch(
        /audit chain BROKEN \(RECORDS_MISSING\): records 1 to 3 are missing: .*not among the trusted keys/,
      );
      expect(await platformctl(['audit', 'verify', '--file', join(dataDir, 'none.jsonl')], offline)).toMatchObject({
        code: 1,
        stderr: expect.stringContaining('is not a readable audit export'),
      });
      expect((await platformctl(['audit', 'verify', '--file', file, '--export', file], env)).code).toBe(2);

      // The finding: with write access to the tables, delete the oldest records behind an unsigned checkpoint.
      const next = await inAudit((runtime) =>
        runtime.em().transactional(async (tx) => {
          const events = `"${schema}"."audit_event"`;
          const [four] = await tx.execute<Array<{ hash: string }>>(`select hash from ${events} where seq = 4`);
          await tx.execute(
            `insert into "${schema}"."audit_checkpoint" (kind, seq, hash, first_seq, pruned) values ('prune', 4, ?, 4, 1)`,
            [four!.hash],
          );
          await tx.execute(`select set_config('audit.prune', 'on', true)`);
          await tx.execute(`delete from ${events} where seq = 4`);
          const [row] = await tx.execute<Array<{ id: string }>>(`select id from ${events} where seq = 5`);
          return row!.id;
        }),
      );
      const broken = await platformctl(['audit', 'verify'], env);
      expect(broken.code).toBe(1);
      expect(broken.stderr).toMatch(
        /audit chain BROKEN \(RECORDS_MISSING\): records 4 to 4 are missing: the chain starts at record 5, after the prune checkpoint at record 4 .* it is unsigned/,
      );
      expect(broken.stdout).toContain(`first broken record (seq 5, id ${next})`);

      const grants = await platformctl(
        ['audit', 'grants', '--role', 'platform_audit', '--prune-role', 'platform_audit_prune'],
        env,
      );
      expect(grants.code).toBe(0);
      expect(grants.stdout).toContain(
        `grant execute on function "${schema}"."audit_chain_lock"(), "${schema}"."audit_append"(varchar, jsonb) to "platform_audit";`,
      );
      expect(grants.stdout).toContain(`grant delete on "${schema}"."audit_event" to "platform_audit_prune";`);
      expect(grants.stdout).not.toMatch(/grant [^;]*update[^;]*"audit_chain_head"/);
      expect((await platformctl(['audit', 'grants'], env)).code).toBe(2);
    } finally {
      if (config.database.url) {
        await inAudit(async (runtime) => {
          await runtime.em().execute(`drop schema if exists "${schema}" cascade`);
        });
      }
    }
  }, 120_000);
});
