#include <stdio.h>
#include "kb.h"
int main(void)
{
    int n;
    const kb_op *const *ops = kb_ops(&n);
    for (int i = 0; i < n; i++) printf("%s\n", ops[i]->name);
    return 0;
}
