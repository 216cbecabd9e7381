name: __name__
version: 0.1.0
description: __Resources__ written by users (scaffolded from the module template).
kernel: ^__kernelVersion__
dependencies:
  identity: ^__identityVersion__
permissions:
  - { name: __name__.__resource__.read, description: Read __resources__, public: true }
  - { name: __name__.__resource__.create, description: Write new __resources__ }
  - { name: __name__.__resource__.update, description: Edit one's own __resources__ }
  - { name: __name__.__resource__.delete, description: Delete one's own __resources__ }
  - { name: __name__.__resource__.moderate, description: Edit or delete anyone's __resources__ }
events:
  publishes: [__name__.__resource__.created, __name__.__resource__.updated, __name__.__resource__.deleted]
  consumes: [identity.user.deleted]
schedules:
  # Each runs once per deployment per tick, whichever instance takes it (platformctl jobs list).
  - name: retention
    cron: '30 3 * * *'
    handler: delete-expired-__resources__
    description: Deletes __resources__ created more than modules.__name__.retentionDays ago (none while it is null), each with its __name__.__resource__.deleted event
