/* Downstream C program (linked shared or static): one MSE call, checked. */
#include <lossfn.h>
#include <stdio.h>

int main(void) {
    const float x[3] = {1.0f, 2.0f, 3.0f}, t[3] = {1.0f, 1.0f, 1.0f};
    float loss = 0.0f, grad[3];
    if (lossfn_mse_loss_f32(x, t, NULL, 3, NULL, &loss, grad) != LOSSFN_OK) return 1;
    printf("C consumer: lossfn %s, mse %.4f\n", lossfn_version_string(), loss);
    /* (0 + 1 + 4) / 3 */
    return (loss > 1.6666f && loss < 1.6667f && lossfn_version_number() == LOSSFN_VERSION_NUMBER) ? 0 : 1;
}
